// Package spool is the agent's outbox while the server is unreachable: a
// bounded, crash-safe FIFO of sequence-numbered messages on disk.
//
// The agent appends each outgoing message with a strictly increasing
// sequence number (Append); the sender reads them oldest first (Next) and,
// once the server has confirmed them, acknowledges everything up to a
// sequence number (Ack). Records are at least once: after a crash, records
// read but not acknowledged are read again. One writer and one reader
// goroutine may use a Spool at the same time; a lock file keeps a second
// process out of the directory (ErrLocked).
//
// # Bound
//
// The segment files never hold more than Options.MaxBytes. When a record
// would not fit, Append drops the NEW record, counts it in Stats.Dropped and
// returns ErrFull: the oldest records are kept, because they are the ones
// the server has waited for longest and dropping them would leave a gap in
// what it has already partly received; the caller learns about the drop at
// once and can report it (a gap in sequence numbers tells the server too).
// Acknowledged records free space when their whole segment is acknowledged,
// so a partly acknowledged oldest segment (at most Options.SegmentBytes)
// still counts.
//
// # Format
//
// A directory holds segment files named by the sequence number of their
// first record, as 20 decimal digits and ".seg"; "ack", the acknowledgement
// mark; and "lock". A segment is a sequence of records, little-endian:
//
//	offset  size  field
//	0       4     payload length n (at most MaxPayload)
//	4       4     CRC-32C (Castagnoli) of bytes 0-3, 8-15 and the payload
//	8       8     sequence number, above the previous record's
//	16      n     payload
//
// "ack" is "VSPA", the acknowledged sequence number (8 bytes) and the CRC-32C
// of those 12 bytes; it is replaced by rename.
//
// # Crashes
//
// Append writes a record with one write at the end of the newest segment
// and, with Options.Sync, fsyncs it before returning; a failed write is cut
// off again, so a full disk leaves the spool as it was. On Open every
// segment is checked record by record. A torn or corrupt end of the newest
// segment (power loss or kill -9 during a write) is truncated and counted in
// Stats.Truncated; damage in an older segment loses the rest of that
// segment only, counted in Stats.Corrupt, and reading goes on with the next.
// Damage found while reading is handled the same way. Nothing in a segment
// file can make Open or Next panic, loop or allocate more than MaxPayload
// (FuzzReadSegment).
//
// The package does not log. It is imported by the agent.
package spool
