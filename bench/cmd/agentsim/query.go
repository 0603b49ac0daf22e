package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// The API query load: GET /api/v1/assets in the shapes a console and
// scripts use (filters, sorts, substring search, keyset pagination), at a
// fixed rate, measured from each query's scheduled start (so a slow server
// cannot hide its queueing delay by slowing the client down).

// queryShape is one kind of asset query.
type queryShape struct {
	name  string
	query func(r *rand.Rand, s *querySamples) url.Values
	pages int // follow the cursor this many pages (1: first page only)
}

// querySamples are real IDs and values to filter on, read from the API.
type querySamples struct {
	hosts  []string
	agents []string
}

var queryShapes = []queryShape{
	{"first page, default sort (name)", func(*rand.Rand, *querySamples) url.Values {
		return url.Values{"limit": {"100"}}
	}, 1},
	{"hosts by last_seen desc", func(*rand.Rand, *querySamples) url.Values {
		return url.Values{"kind": {"host"}, "sort": {"last_seen"}, "order": {"desc"}, "limit": {"100"}}
	}, 1},
	{"name substring search", func(r *rand.Rand, _ *querySamples) url.Values {
		return url.Values{"name": {fmt.Sprintf("%s-%03d", roles[r.IntN(len(roles))], r.IntN(100))}, "limit": {"50"}}
	}, 1},
	{"os + region filter", func(r *rand.Rand, _ *querySamples) url.Values {
		cl := clouds[r.IntN(len(clouds))]
		return url.Values{"os": {osProfiles[r.IntN(len(osProfiles))].name}, "region": {cl.regions[r.IntN(len(cl.regions))]}, "limit": {"100"}}
	}, 1},
	{"label filter, by risk desc", func(r *rand.Rand, _ *querySamples) url.Values {
		return url.Values{"label": {"env=" + envs[r.IntN(len(envs))]}, "sort": {"risk"}, "order": {"desc"}, "limit": {"100"}}
	}, 1},
	{"containers of one host", func(r *rand.Rand, s *querySamples) url.Values {
		return url.Values{"parent_id": {pick(r, s.hosts)}, "kind": {"container"}}
	}, 1},
	{"one agent's assets", func(r *rand.Rand, s *querySamples) url.Values {
		return url.Values{"agent_id": {pick(r, s.agents)}}
	}, 1},
	{"containers, 10 pages of 200", func(*rand.Rand, *querySamples) url.Values {
		return url.Values{"kind": {"container"}, "sort": {"first_seen"}, "limit": {"200"}}
	}, 10},
}

func pick(r *rand.Rand, v []string) string {
	if len(v) == 0 {
		return "none"
	}
	return v[r.IntN(len(v))]
}

// QueryResult is the query load's outcome.
type QueryResult struct {
	Rate     float64            `json:"rate_per_s"`
	Clients  int                `json:"clients"`
	Seconds  float64            `json:"seconds"`
	Requests int64              `json:"requests"`
	Errors   int64              `json:"errors"`
	Error    string             `json:"error,omitempty"`
	All      Summary            `json:"all"`
	Shapes   map[string]Summary `json:"shapes"`
	Order    []string           `json:"order"`
	// Service times count from each request's own send, without the
	// wait for a free client (absent in results of older versions).
	ServiceAll    Summary            `json:"service_all"`
	ServiceShapes map[string]Summary `json:"service_shapes,omitempty"`
}

type queryLoad struct {
	api     *apiClient
	rate    float64
	clients int
	seed    uint64

	all      latencies
	perShape map[string]*latencies
	svcAll   latencies
	svcShape map[string]*latencies
	requests atomic.Int64
	errors   atomic.Int64
	errs     errorLog
}

func newQueryLoad(api *apiClient, rate float64, clients int, seed uint64) *queryLoad {
	q := &queryLoad{api: api, rate: rate, clients: clients, seed: seed, perShape: map[string]*latencies{}, svcShape: map[string]*latencies{}}
	for _, s := range queryShapes {
		q.perShape[s.name] = &latencies{}
		q.svcShape[s.name] = &latencies{}
	}
	return q
}

// samples reads host asset and agent IDs to filter on.
func (q *queryLoad) samples(ctx context.Context) (*querySamples, error) {
	var page struct {
		Items []struct {
			ID      string `json:"id"`
			AgentID string `json:"agentId"`
		} `json:"items"`
	}
	if err := q.api.do(ctx, http.MethodGet, "/api/v1/assets?kind=host&limit=1000", nil, &page); err != nil {
		return nil, err
	}
	s := &querySamples{}
	for _, it := range page.Items {
		s.hosts = append(s.hosts, it.ID)
		s.agents = append(s.agents, it.AgentID)
	}
	return s, nil
}

// run issues queries at q.rate until ctx ends.
func (q *queryLoad) run(ctx context.Context) (QueryResult, error) {
	s, err := q.samples(ctx)
	if err != nil {
		return QueryResult{}, err
	}
	type job struct {
		shape int
		at    time.Time
	}
	jobs := make(chan job, 10_000)
	var wg sync.WaitGroup
	for w := range q.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(q.seed, uint64(1000+w)))
			for j := range jobs {
				q.one(ctx, r, s, queryShapes[j.shape], j.at)
			}
		}()
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / q.rate)
	next, n := start, 0
	t := time.NewTimer(0)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-t.C:
		}
		now := time.Now()
		for !next.After(now) {
			select {
			case jobs <- job{shape: n % len(queryShapes), at: next}:
			default:
				q.errors.Add(1)
				q.errs.add("client queue full", nil)
			}
			n++
			next = next.Add(interval)
		}
		t.Reset(time.Until(next))
	}
	t.Stop()
	close(jobs)
	wg.Wait()
	res := QueryResult{Rate: q.rate, Clients: q.clients, Seconds: time.Since(start).Seconds(),
		Requests: q.requests.Load(), Errors: q.errors.Load(), All: q.all.summary(), Shapes: map[string]Summary{},
		ServiceAll: q.svcAll.summary(), ServiceShapes: map[string]Summary{}}
	for _, sh := range queryShapes {
		res.Shapes[sh.name] = q.perShape[sh.name].summary()
		res.ServiceShapes[sh.name] = q.svcShape[sh.name].summary()
		res.Order = append(res.Order, sh.name)
	}
	if _, ex := q.errs.snapshot(); len(ex) > 0 {
		for k, v := range ex {
			res.Error = k + ": " + v
			break
		}
	}
	return res, nil
}

// one runs one query (and its following pages), recording each page's
// latency; the first page counts from its scheduled time.
func (q *queryLoad) one(ctx context.Context, r *rand.Rand, s *querySamples, sh queryShape, at time.Time) {
	v := sh.query(r, s)
	for page := 0; page < sh.pages; page++ {
		start, sent := at, time.Now()
		if page > 0 {
			start = sent
		}
		var body struct {
			Items []json.RawMessage `json:"items"`
			Next  string            `json:"next"`
		}
		err := q.api.do(ctx, http.MethodGet, "/api/v1/assets?"+v.Encode(), nil, &body)
		if ctx.Err() != nil {
			return // the load ended mid-request: not a server error
		}
		q.requests.Add(1)
		if err != nil {
			q.errors.Add(1)
			q.errs.add(sh.name, err)
			return
		}
		d := time.Since(start)
		q.all.add(d)
		q.perShape[sh.name].add(d)
		q.svcAll.add(time.Since(sent))
		q.svcShape[sh.name].add(time.Since(sent))
		if body.Next == "" {
			return
		}
		v.Set("cursor", body.Next)
	}
}
