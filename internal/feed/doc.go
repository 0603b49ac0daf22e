// Package feed downloads the advisory sources that the vulnerability
// database is built from (OSV all.zip exports, the Debian security tracker's
// DSA/DLA lists, Alpine secdb, EPSS scores, CISA KEV) into a local cache
// directory.
//
// Downloads are resumable (a ".part" file and its state survive a dropped
// connection or a killed process and continue with an HTTP Range request
// guarded by If-Range), conditional (an unchanged file costs one 304), bounded
// (Options.MaxBytes per file, a bounded number of retries with exponential
// backoff and jitter) and verified: when a source names an expected SHA-256,
// directly or through a digest sidecar URL, a file that does not match is
// discarded. A complete file replaces the previous one by rename, so the
// cache never holds a truncated or unverified file under a source's name.
//
// The cache directory holds, per source:
//
//	<Name>              the complete, verified file
//	<Name>.meta.json    its URL, ETag, Last-Modified, SHA-256, size, fetch time
//	<Name>.part         an incomplete download
//	<Name>.part.json    its URL, ETag, Last-Modified, bytes so far, announced size
//	.tmp-*              a state file being written (safe to delete)
//
// Source names are validated so that none can collide with these or leave
// the directory. One process at a time may fetch into a directory.
//
// The package knows nothing of the formats it downloads; package vulndb
// parses them. It does not log. It is imported by the CLI (`vigil db
// update`); nothing else needs the network.
package feed
