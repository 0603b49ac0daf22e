package iac

import (
	"context"
	"runtime"
	"sync"
)

// ForEach calls fn(i) for every i in [0, n) on at most GOMAXPROCS
// goroutines and returns when all calls are done or ctx is cancelled
// (calls not yet started are then skipped). Loaders parse files with it:
// fn writes its result into a slot of its own, so the caller keeps the
// file order.
func ForEach(ctx context.Context, n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			if ctx.Err() != nil {
				return
			}
			fn(i)
		}
		return
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}
