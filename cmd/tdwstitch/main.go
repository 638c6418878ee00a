// Command tdwstitch turns the frames a ThreeDWorld run saved into videos.
package main

import "os"

func main() { os.Exit(runMain()) }
