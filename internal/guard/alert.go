package guard

import (
	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/respond"
)

// Alert is a rule that fired, with the whole event (process, ancestry,
// container, file, network …) and, when the rule's action was carried
// out or tried, the responder's record of it. Its JSON is detect.Alert's
// with a "response" member added.
type Alert struct {
	detect.Alert
	Response *respond.Record `json:"response,omitempty"`
}

// Sink takes alerts: the local log, the agent's stream to the server, a
// printer for standalone mode. Write is called from Run's goroutine, one
// alert at a time; it should not block for long.
type Sink interface {
	Write(a *Alert) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(a *Alert) error

// Write implements Sink.
func (f SinkFunc) Write(a *Alert) error { return f(a) }

var _ Sink = SinkFunc(nil)
