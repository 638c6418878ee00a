// Package report is tdwstitch's JSON contract, schema 1: the run report
// (RunFile, one per output folder), the batch summary (BatchFile) and a live
// run's ingest report (ServeFile). Tools read these files unattended and act
// on them, so field names and meanings are stable: a field may be added
// within one schema, never renamed or given another meaning.
//
// It is a leaf: the pipeline, the gallery and the CLI import it, and it
// imports only stages/tdw (to say which passes are visual). Its types carry
// the JSON tags; stage types never reach the files directly.
package report
