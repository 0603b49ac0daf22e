package advisory

import (
	"errors"
	"fmt"
	"io"
)

// Sentinel errors. Parse errors wrap one of them, so callers can tell a
// hostile or broken feed (ErrTooLarge, ErrFormat) from a feed that is newer
// than this code (ErrUnknownRelease).
var (
	// ErrTooLarge reports input over one of the parsers' bounds (record
	// size, archive member size or count, line length, expansion budget).
	ErrTooLarge = errors.New("advisory: input exceeds limit")
	// ErrFormat reports input that does not follow the format.
	ErrFormat = errors.New("advisory: malformed input")
	// ErrUnknownRelease reports a distribution release name this package
	// cannot map to an ecosystem (a Debian codename newer than the table).
	ErrUnknownRelease = errors.New("advisory: unknown distribution release")
)

// Bounds on untrusted input.
const (
	// maxRecord bounds one OSV record.
	maxRecord = 16 << 20
	// maxYAML bounds one YAML document (an OSV record or a secdb file).
	// yaml.v3 builds its node tree at some 70 bytes of memory per byte of
	// input; the largest real YAML records are under 20 KiB.
	maxYAML = 1 << 20
	// maxValues bounds the values of one JSON record (or the nodes of one
	// YAML document, aliases expanded). Decoding costs around 100 bytes per
	// value (protojson builds a structpb.Value for every element of the
	// *_specific objects), so 16 MiB of "[1,1,1,...]" would otherwise take
	// over a gigabyte; real records have a few thousand values.
	maxValues = 1 << 20
	// maxZipMember bounds the declared uncompressed size of one all.zip
	// member. Members are single OSV records, so maxRecord applies to what
	// is actually read; this bound rejects a member before decompression.
	maxZipMember = 64 << 20
	// maxZipMembers bounds the number of members of an all.zip. npm's
	// export holds well over 100,000 records (malicious-package reports
	// among them), so the bound leaves room for growth.
	maxZipMembers = 1_000_000
	// maxZipTotal bounds the bytes decompressed from one all.zip.
	maxZipTotal = 4 << 30
	// maxSecDB bounds one Alpine secdb JSON file, read whole (real ones
	// are under 1 MiB).
	maxSecDB = 16 << 20
	// maxFeed bounds a streamed feed (KEV, decompressed EPSS).
	maxFeed = 256 << 20
	// maxLine bounds one line of a line-oriented feed (Debian lists, EPSS).
	maxLine = 1 << 20
)

// readLimited reads all of r, failing with ErrTooLarge if r holds more than
// limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}

// checkJSONValues fails with ErrTooLarge if data, a JSON text, holds more
// than maxValues values, counting the commas and opening brackets outside
// strings: a linear scan that runs before any decoder allocates.
func checkJSONValues(data []byte) error {
	n := 0
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case ',', '[', '{':
			n++
			if n > maxValues {
				return fmt.Errorf("%w: more than %d JSON values", ErrTooLarge, maxValues)
			}
		}
	}
	return nil
}
