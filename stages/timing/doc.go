// Package timing knows when each frame of a TDW run was captured and when its
// audio recording started, on one clock: from the controller's timing sidecar
// (RUN/timing.csv), or estimated from file modification times.
//
// TDW saves one frame per communicate() call while audio plays in real time,
// so a controller slower than its target framerate drifts from its sound; these
// times are what lets the pipeline place frames where they belong.
//
// Everything here is pure computation over small tables: safe for concurrent
// use once built, and cheap (one pass over the sidecar).
package timing
