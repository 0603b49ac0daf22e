package image

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNotFound means no source holds the image: no such file or
	// directory, no such image in the Docker Engine, no such manifest in the
	// registry, no entry of that name in a layout or archive.
	ErrNotFound = errors.New("image not found")
	// ErrCorrupt means the image was found but its data is malformed or
	// does not match its digests: a truncated or invalid archive, a missing
	// blob, a manifest, config or layer whose digest is wrong.
	ErrCorrupt = errors.New("image data corrupt")
	// ErrAmbiguous means a layout or archive holds several images and REF
	// does not say which one to take.
	ErrAmbiguous = errors.New("image reference is ambiguous")
	// ErrEngineUnavailable means the Docker Engine socket does not answer.
	// Auto mode moves on to the next source; Source "docker" returns it.
	ErrEngineUnavailable = errors.New("docker engine unavailable")
)

// PlatformError is returned when an image index (or a single-platform image
// opened with an explicit Options.Platform) has no manifest for the wanted
// platform. Available lists what it does have, sorted.
type PlatformError struct {
	Ref       string
	Want      string
	Available []string
}

func (e *PlatformError) Error() string {
	avail := "none"
	if len(e.Available) > 0 {
		avail = strings.Join(e.Available, ", ")
	}
	return fmt.Sprintf("image %s has no manifest for platform %s (available: %s)", e.Ref, e.Want, avail)
}

// corruptf formats an error that wraps ErrCorrupt and any %w in format.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}
