// Command tdwstitch turns the frames a ThreeDWorld (TDW) run saved into videos:
// one per (avatar, pass), lossless for data passes, with the run's audio.
//
// This package is only the command line: flags become pipeline.Options
// (every value checked before work starts), pipeline events become progress
// on stderr, and errors become exit codes in one place (run, then
// exitCode): a signal's 130/143 first, unless serve's runs failed or are
// degraded; then the sentinels. SIGINT and SIGTERM cancel the root context
// once, with the signal as its cause; everything below obeys it. run is the testable entry point: it takes the
// arguments and injected streams and returns the exit code.
package main
