# A stand-in for the parts of the TDW Python package the add-on uses, so its
# tests run with plain python3 and no simulator. Behaviour follows TDW's own.
