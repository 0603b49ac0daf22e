package spool

import "errors"

var (
	// ErrFull reports a record dropped because the spool holds
	// Options.MaxBytes; it is counted in Stats.Dropped.
	ErrFull = errors.New("spool full")

	// ErrTooLarge reports a record dropped because it alone exceeds
	// MaxPayload or Options.MaxBytes; it is counted in Stats.Dropped.
	ErrTooLarge = errors.New("record too large")

	// ErrOutOfOrder reports an Append whose sequence number is not above
	// every earlier one (Stats.Last).
	ErrOutOfOrder = errors.New("sequence number out of order")

	// ErrAckAhead reports an Ack beyond the last appended sequence number.
	ErrAckAhead = errors.New("acknowledgement beyond last record")

	// ErrLocked reports a spool directory another Spool holds open.
	ErrLocked = errors.New("spool directory in use")

	// ErrClosed reports use of a closed Spool.
	ErrClosed = errors.New("spool closed")
)
