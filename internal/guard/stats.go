package guard

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/vigil-sec/vigil/internal/sensor"
)

// Stats are the guard's counters since New.
type Stats struct {
	// Mode is the sensor's: "ebpf" or "degraded: <why>".
	Mode string `json:"mode"`
	// Events counts the events judged.
	Events uint64 `json:"events"`
	// Alerts counts the alerts sent, by rule id; Suppressed those held
	// back because the same rule had alerted on the same process within
	// the repeat window.
	Alerts     map[string]uint64 `json:"alerts"`
	Suppressed map[string]uint64 `json:"suppressed"`
	// Actions counts the records of actions by action (dry runs and
	// refusals included); ActionErrors those refused or failed.
	Actions      map[string]uint64 `json:"actions"`
	ActionErrors map[string]uint64 `json:"actionErrors"`
	// SinkErrors counts failed sink writes; LastSinkError is the latest.
	SinkErrors    uint64 `json:"sinkErrors"`
	LastSinkError string `json:"lastSinkError,omitempty"`
	// Reloads counts the successful loads of RulesDir by the watcher (the
	// first when Run starts); ReloadErrors the loads that failed, which
	// kept the rules in force.
	Reloads         uint64 `json:"reloads"`
	ReloadErrors    uint64 `json:"reloadErrors"`
	LastReloadError string `json:"lastReloadError,omitempty"`
	// Rules is the number of rules in force; EvalErrors counts, per rule,
	// evaluations of the engine in force that failed.
	Rules      int               `json:"rules"`
	EvalErrors map[string]uint64 `json:"evalErrors,omitempty"`
	// Sensor is the sensor's own counters (events by kind, kernel drops).
	Sensor sensor.Stats `json:"sensor"`
}

// counters are the live values behind Stats.
type counters struct {
	events  atomic.Uint64
	reloads atomic.Uint64

	mu                                        sync.Mutex
	alerts, suppressed, actions, actionErrors map[string]uint64
	sinkErrors, reloadErrors                  uint64
	lastSinkError, lastReloadError            string
}

func (c *counters) init() {
	c.alerts, c.suppressed, c.actions, c.actionErrors = map[string]uint64{}, map[string]uint64{}, map[string]uint64{}, map[string]uint64{}
}

func (c *counters) count(m *map[string]uint64, key string) {
	c.mu.Lock()
	(*m)[key]++
	c.mu.Unlock()
}

func (c *counters) sinkFailed(err error) {
	c.mu.Lock()
	c.sinkErrors++
	c.lastSinkError = err.Error()
	c.mu.Unlock()
}

func (c *counters) reloadFailed(err error) {
	c.mu.Lock()
	c.reloadErrors++
	c.lastReloadError = err.Error()
	c.mu.Unlock()
}

// Stats returns the counters.
func (g *Guard) Stats() Stats {
	e := g.eng.Load()
	st := Stats{
		Mode:       g.src.Mode(),
		Events:     g.st.events.Load(),
		Reloads:    g.st.reloads.Load(),
		Rules:      len(e.Rules()),
		EvalErrors: e.EvalErrors(),
		Sensor:     g.src.Stats(),
	}
	c := &g.st
	c.mu.Lock()
	defer c.mu.Unlock()
	st.Alerts, st.Suppressed = maps.Clone(c.alerts), maps.Clone(c.suppressed)
	st.Actions, st.ActionErrors = maps.Clone(c.actions), maps.Clone(c.actionErrors)
	st.SinkErrors, st.LastSinkError = c.sinkErrors, c.lastSinkError
	st.ReloadErrors, st.LastReloadError = c.reloadErrors, c.lastReloadError
	return st
}
