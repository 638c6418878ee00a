class AddOn:
    def __init__(self):
        self.commands = []
        self.initialized = False
