package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// Liveness. Hearing from an agent never waits for the store: every
// message a stream receives (heartbeats included) records "last heard" in
// memory, and the watchdog writes what was heard since its last pass in
// one batch (store.AgentsSeen) before it looks for silent agents, so a
// store that lags behind ingest cannot make a live agent look silent.

// heard is what the server last heard from one agent.
type heard struct {
	at    time.Time
	stats json.RawMessage // the last heartbeat's, until written
	dirty bool            // not yet written to the store
}

// hear records a message from the agent at t (with its heartbeat stats,
// when it is one).
func (s *Service) hear(agentID string, t time.Time, stats json.RawMessage) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	h := s.live[agentID]
	if h == nil {
		h = &heard{}
		s.live[agentID] = h
	}
	if t.After(h.at) {
		h.at = t
	}
	if len(stats) > 0 {
		h.stats = stats
	}
	h.dirty = true
}

// lastHeard is when the agent was last heard from, as far as this server
// process knows.
func (s *Service) lastHeard(agentID string) (time.Time, bool) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	if h := s.live[agentID]; h != nil {
		return h.at, true
	}
	return time.Time{}, false
}

// FlushLiveness writes the agents heard from since the last flush to the
// store in one batch. Agents not connected any more are then forgotten.
func (s *Service) FlushLiveness(ctx context.Context) error {
	s.liveMu.Lock()
	var seen []store.AgentSeen
	for id, h := range s.live {
		if h.dirty {
			seen = append(seen, store.AgentSeen{ID: id, At: h.at, Stats: h.stats})
			h.dirty, h.stats = false, nil
		}
	}
	s.liveMu.Unlock()
	if len(seen) == 0 {
		s.forgetDisconnected()
		return nil
	}
	if err := s.o.Store.AgentsSeen(ctx, seen); err != nil {
		// Written again next time (keeping newer news).
		s.liveMu.Lock()
		for _, a := range seen {
			h := s.live[a.ID]
			if h == nil {
				h = &heard{at: a.At}
				s.live[a.ID] = h
			}
			if len(h.stats) == 0 {
				h.stats = a.Stats
			}
			h.dirty = true
		}
		s.liveMu.Unlock()
		return fmt.Errorf("fleet: liveness: %w", err)
	}
	s.forgetDisconnected()
	return nil
}

// forgetDisconnected drops the written liveness of agents without a stream.
func (s *Service) forgetDisconnected() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	for id, h := range s.live {
		if !h.dirty && s.conns[id] == nil {
			delete(s.live, id)
		}
	}
}

// markHeard makes the agent's in-memory liveness be written again (it
// clears a Silent the store set while the agent was being heard).
func (s *Service) markHeard(agentID string) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	if h := s.live[agentID]; h != nil {
		h.dirty = true
	}
}
