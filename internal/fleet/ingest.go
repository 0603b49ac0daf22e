package fleet

import (
	"context"
	"errors"
	"hash/fnv"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/agentpb"
	"github.com/vigil-sec/vigil/internal/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Group commit. Streams do not write to the store: each numbered message
// becomes a job on the queue of one ingest loop (always the same loop for
// an agent, so an agent's messages apply in order). A loop takes what is
// queued, up to maxBatch messages or maxBatchBytes, applies it in one
// store transaction (store.IngestBatch: each message deduplicated on
// (agent, seq) and advancing its agent's LastSeq), commits, and only then
// queues the acknowledgements. Delivery stays at-least-once with
// exactly-once effect; a commit costs once per batch instead of once per
// message.

// Bounds of one batch.
const (
	maxBatch      = 256
	maxBatchBytes = 32 << 20
	// maxInFlight bounds a stream's messages queued or being committed; its
	// receive loop waits beyond it.
	maxInFlight = 128
	// ingestTimeout bounds one batch transaction.
	ingestTimeout = 5 * time.Minute
)

// errStreamFailed skips the messages a failed stream queued after its
// failure: applying them would skip the failed one for good.
var errStreamFailed = errors.New("fleet: an earlier message of the stream failed")

// job is one numbered message waiting for its ingest loop.
type job struct {
	c      *conn
	m      *agentpb.AgentMessage
	now    time.Time
	queued time.Time
	size   int
}

// queue is one ingest loop's unbounded FIFO (bounded in practice by
// maxInFlight per stream).
type queue struct {
	mu     sync.Mutex
	jobs   []*job
	signal chan struct{} // one token when jobs became non-empty
}

func (q *queue) put(j *job) {
	q.mu.Lock()
	q.jobs = append(q.jobs, j)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take removes up to maxBatch jobs (and about maxBatchBytes) from the
// front of the queue.
func (q *queue) take() []*job {
	q.mu.Lock()
	defer q.mu.Unlock()
	n, size := 0, 0
	for n < len(q.jobs) && n < maxBatch && (n == 0 || size+q.jobs[n].size <= maxBatchBytes) {
		size += q.jobs[n].size
		n++
	}
	batch := make([]*job, n)
	copy(batch, q.jobs[:n])
	clear(q.jobs[:n])
	q.jobs = q.jobs[n:]
	if len(q.jobs) == 0 {
		q.jobs = nil // let the backing array go
	} else {
		select {
		case q.signal <- struct{}{}:
		default:
		}
	}
	return batch
}

// ingestLoops returns the queues of the ingest loops, starting them on
// first use: one for SQLite (one writer anyway), a few for PostgreSQL.
func (s *Service) ingestLoops() []*queue {
	s.loopsOnce.Do(func() {
		n := 1
		if s.o.Store.Dialect() == "postgres" {
			n = 4
		}
		ctx, cancel := context.WithCancel(context.Background())
		s.stopLoops = cancel
		for range n {
			q := &queue{signal: make(chan struct{}, 1)}
			s.queues = append(s.queues, q)
			s.loops.Add(1)
			go func() {
				defer s.loops.Done()
				s.ingestLoop(ctx, q)
			}()
		}
	})
	return s.queues
}

// enqueue hands a numbered message to its agent's ingest loop.
func (s *Service) enqueue(c *conn, m *agentpb.AgentMessage, now time.Time) {
	qs := s.ingestLoops()
	h := fnv.New32a()
	h.Write([]byte(c.agentID))
	qs[h.Sum32()%uint32(len(qs))].put(&job{c: c, m: m, now: now, queued: time.Now(), size: proto.Size(m)})
}

func (s *Service) ingestLoop(ctx context.Context, q *queue) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.signal:
		}
		if batch := q.take(); len(batch) > 0 {
			s.commit(ctx, batch)
		}
	}
}

// commit applies a batch in one transaction, then acknowledges each
// applied or replayed message on its stream and ends the streams whose
// message failed.
func (s *Service) commit(ctx context.Context, batch []*job) {
	changed := make([][]string, len(batch))
	msgs := make([]store.IngestMessage, len(batch))
	for i, j := range batch {
		msgs[i] = store.IngestMessage{AgentID: j.c.agentID, Seq: j.m.GetSeq(), Apply: func(in store.Ingester) error {
			if j.c.failed.Load() {
				return errStreamFailed
			}
			// Apply may run more than once (the store retries a batch
			// without a message that failed): it only writes through in and
			// sets changed[i]. The stream fails after the commit, below;
			// the store fails the stream's later messages of this batch.
			var err error
			changed[i], err = s.apply(ctx, in, j.c.agentID, j.m, j.now)
			return err
		}}
	}
	tctx, cancel := context.WithTimeout(ctx, ingestTimeout)
	res, err := s.o.Store.IngestBatch(tctx, msgs)
	cancel()
	done := time.Now()
	s.o.Metrics.Batches.Observe(float64(len(batch)))
	var batchErr error
	if err != nil {
		batchErr = s.internal("ingest", err) // logged once for the batch
	}
	for i, j := range batch {
		switch {
		case batchErr != nil:
			j.c.fail(batchErr)
		case errors.Is(res[i].Err, errStreamFailed), errors.Is(res[i].Err, store.ErrEarlierFailed):
			// The stream already ended with the first failure.
		case res[i].Err != nil:
			var bad badMessage
			if errors.As(res[i].Err, &bad) {
				j.c.fail(status.Error(codes.InvalidArgument, bad.Error()))
			} else {
				j.c.fail(s.internal("ingest", res[i].Err))
			}
		default:
			s.o.Metrics.IngestTime.Observe(done.Sub(j.queued).Seconds())
			if res[i].Duplicate {
				s.o.Metrics.Duplicates.Inc()
			} else if len(changed[i]) > 0 {
				s.o.Assess(changed[i])
			}
			j.c.committed(j.m.GetSeq())
			j.c.ack(j.m.GetSeq())
		}
	}
}
