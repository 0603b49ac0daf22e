package bundle

import "errors"

// Sentinel errors; test with errors.Is. Import wraps exactly one of them
// for every rejected bundle (an I/O error of the reader it was given is
// returned as is).
var (
	// ErrSignature marks a bundle without a signature or whose signature
	// does not verify with the trusted key its manifest names.
	ErrSignature = errors.New("bad or missing bundle signature")
	// ErrUntrusted marks a bundle signed with a key that is not trusted
	// (or an import with no trusted keys at all).
	ErrUntrusted = errors.New("bundle signed by an untrusted key")
	// ErrDigest marks a database whose size or SHA-256 differs from the
	// signed manifest's.
	ErrDigest = errors.New("database digest does not match the manifest")
	// ErrCorrupt marks an archive that cannot be read (truncated, not tar,
	// bad compression) or a manifest that is not valid.
	ErrCorrupt = errors.New("corrupt bundle")
	// ErrFormat marks a manifest of another format or version.
	ErrFormat = errors.New("unsupported bundle format")
	// ErrOlder marks a bundle built before the installed database (see
	// ImportOptions.AllowOlder).
	ErrOlder = errors.New("bundle is older than the installed database")
	// ErrMember marks an archive member that does not belong: an unknown
	// name, a duplicate, a link or a directory, a member out of order.
	ErrMember = errors.New("unexpected bundle member")
	// ErrPath marks a member or database name that is absolute or climbs
	// out of its directory.
	ErrPath = errors.New("unsafe path in bundle")
	// ErrTooLarge marks a member over its size limit.
	ErrTooLarge = errors.New("bundle member too large")
	// ErrKey marks key material that is not an ed25519 key in the
	// expected encoding.
	ErrKey = errors.New("invalid key")
)
