// Package discover finds the frames and audio of one TDW run on disk and groups
// them into streams, one per (avatar, pass), ordered by frame number.
//
// It only lists and stats files: it never opens a frame, so it costs one
// directory read per folder and stays cheap on runs of any length. Find is safe
// to call concurrently on different runs.
package discover
