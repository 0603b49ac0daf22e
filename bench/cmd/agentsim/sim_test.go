package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/server"
	"github.com/vigil-sec/vigil/internal/store"
)

// startServer runs the real server (store, CA, gRPC listener, API) in
// this process on loopback ports, as `vigil server` would.
func startServer(t testing.TB, storeURL string) *server.Server {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *server.Server, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{
			APIAddr: "127.0.0.1:0", AgentAddr: "127.0.0.1:0", DataDir: dir, Store: storeURL,
			VulnDB: filepath.Join(dir, "no-vulndb.sqlite"), AdminPassword: "agentsim-test-password",
			Ready: func(s *server.Server) { ready <- s },
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("server did not stop")
		}
	})
	select {
	case s := <-ready:
		return s
	case err := <-done:
		t.Fatalf("server: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("server did not start")
	}
	return nil
}

func testConfig(s *server.Server, agents int) config {
	return config{
		label: "test", agentAddr: s.AgentAddr, apiURL: s.APIURL, adminUser: "admin", adminPass: "agentsim-test-password",
		caPin: s.CAFingerprint(), agents: agents, enrollConcurrency: 4, connectConcurrency: 8, snapConcurrency: 4,
		heartbeat: time.Second, deltaEvery: time.Second, spreadHeartbeats: true,
		eventsRate: 2000, eventsBatch: 20, window: 8, warmup: time.Second, duration: 4 * time.Second,
		setupTimeout: 2 * time.Minute, queryRate: 20, queryClients: 2, serverPID: os.Getpid(), watchUID: -1,
		shape: fleetShape{seed: 7, minPkgs: 50, maxPkgs: 150, procs: 20, containers: 2, images: 2, eventBytes: 150,
			deltaProcs: 2, deltaPkgShare: 0.5, deltaPkgsPerUpgrade: 2, containerChurnChance: 0.3},
	}
}

// TestSimAgainstRealServer runs a small fleet against the real server:
// every agent enrolls, connects and has its snapshot, deltas and events
// acknowledged, and the query load gets answers.
func TestSimAgainstRealServer(t *testing.T) {
	srv := startServer(t, "")
	c := testConfig(srv, 6)
	s := &sim{cfg: c, log: t.Output(), pkgs: newPkgCache(), snapSem: make(chan struct{}, c.snapConcurrency)}
	res, err := s.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Enroll.OK != c.agents || res.Connect.Connected != c.agents || res.Snapshot.Acked != int64(c.agents) {
		t.Errorf("enrolled %d, connected %d, snapshots %d; want %d each", res.Enroll.OK, res.Connect.Connected, res.Snapshot.Acked, c.agents)
	}
	w := res.Window
	if w.ConnectedMin != int64(c.agents) || w.Reconnects != 0 {
		t.Errorf("connected min %d, reconnects %d (errors %v)", w.ConnectedMin, w.Reconnects, res.ErrorExamples)
	}
	if w.EventsAcked == 0 || w.DeltasAcked == 0 || w.Heartbeats == 0 {
		t.Errorf("window: %d events, %d deltas, %d heartbeats acknowledged; want some of each", w.EventsAcked, w.DeltasAcked, w.Heartbeats)
	}
	if want := c.agents * (1 + c.shape.containers + c.shape.images); w.AssetsInStore != want {
		t.Errorf("%d assets in the store, want %d", w.AssetsInStore, want)
	}
	if res.Query == nil || res.Query.Requests == 0 || res.Query.Errors != 0 {
		t.Errorf("query load: %+v (%s)", res.Query, res.QueryError)
	}
	if len(res.Errors) > 0 {
		t.Errorf("errors: %v", res.ErrorExamples)
	}
	// Every event acknowledged is stored exactly once (at-least-once
	// delivery, exactly-once effect) — checked on the store directly.
	ctx := context.Background()
	var stored int
	for _, a := range s.agents {
		n, err := countEvents(ctx, srv, a.id)
		if err != nil {
			t.Fatal(err)
		}
		stored += n
	}
	if int64(stored) < w.EventsAcked {
		t.Errorf("%d events stored, fewer than the %d acknowledged in the window", stored, w.EventsAcked)
	}
}

func countEvents(ctx context.Context, srv *server.Server, agentID string) (int, error) {
	n := 0
	o := store.ListOptions{Filter: map[string]string{"agent_id": agentID}, Limit: 1000}
	for {
		pg, err := srv.Store.ListEvents(ctx, o)
		if err != nil {
			return 0, err
		}
		n += len(pg.Items)
		if pg.Next == "" {
			return n, nil
		}
		o.Cursor = pg.Next
	}
}

// TestSimProfile is a reduced in-process reproduction of the full run for
// CPU profiles of the server and simulator together:
//
//	VIGIL_AGENTSIM_PROFILE=200 go test ./bench/cmd/agentsim -run TestSimProfile -cpuprofile cpu.out -timeout 30m
//
// (the value is the number of agents; VIGIL_AGENTSIM_STORE picks a
// postgres:// store, VIGIL_AGENTSIM_RATE the events per second).
func TestSimProfile(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("VIGIL_AGENTSIM_PROFILE"))
	if n <= 0 {
		t.Skip("set VIGIL_AGENTSIM_PROFILE=<agents> to run the profiling reproduction")
	}
	srv := startServer(t, os.Getenv("VIGIL_AGENTSIM_STORE"))
	c := testConfig(srv, n)
	c.heartbeat, c.deltaEvery = 30*time.Second, time.Minute
	c.shape.minPkgs, c.shape.maxPkgs, c.shape.procs, c.shape.containers, c.shape.images = 500, 2000, 120, 5, 4
	c.shape.eventBytes, c.eventsBatch, c.window, c.snapConcurrency = 200, 50, 32, 8
	c.eventsRate, _ = strconv.ParseFloat(envOr("VIGIL_AGENTSIM_RATE", "20000"), 64)
	c.duration, c.warmup = 60*time.Second, 10*time.Second
	// Knobs to isolate a cost: VIGIL_AGENTSIM_HEARTBEAT=1h takes the
	// heartbeats out; VIGIL_AGENTSIM_SMALL=1 makes tiny hosts (20
	// packages, 10 processes, no containers) so the run starts at once.
	if d, err := time.ParseDuration(os.Getenv("VIGIL_AGENTSIM_HEARTBEAT")); err == nil {
		c.heartbeat = d
	}
	if os.Getenv("VIGIL_AGENTSIM_SMALL") != "" {
		c.shape.minPkgs, c.shape.maxPkgs, c.shape.procs, c.shape.containers, c.shape.images = 20, 20, 10, 0, 0
	}
	// VIGIL_AGENTSIM_APICHECK=1: the shape of backbone.sh's API check (50
	// assets per agent, few packages, deltas every 5 minutes).
	if os.Getenv("VIGIL_AGENTSIM_APICHECK") != "" {
		c.shape.minPkgs, c.shape.maxPkgs, c.shape.containers, c.shape.images = 50, 100, 30, 19
		c.deltaEvery = 5 * time.Minute
	}
	s := &sim{cfg: c, log: t.Output(), pkgs: newPkgCache(), snapSem: make(chan struct{}, c.snapConcurrency)}
	res, err := s.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("snapshots %.1f s (%d packages); events %.0f/s (shed %d); query p99 %v ms; server CPU %.0f%%",
		res.Snapshot.Seconds, res.Snapshot.Packages, res.Window.EventsPerSecond, res.Window.EventsShed, res.Query.All.P99, res.Server.CPUWindowPct)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
