package cli

import (
	"context"
	"io"

	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/scan"
)

func scanRootFS(ctx context.Context, e *inventory.Engine, dir string) (*inventory.Result, error) {
	return scan.RootFS(ctx, e, dir)
}

func scanHost(ctx context.Context, e *inventory.Engine, root string) (*inventory.Result, error) {
	return scan.Host(ctx, e, root)
}

func scanImage(ctx context.Context, env *Env, e *inventory.Engine, f *scanFlags, ref string) (*inventory.Result, error) {
	return nil, errNotYet("scan image")
}

func scanSBOM(path string) (*inventory.Result, error) {
	return nil, errNotYet("scan sbom")
}

func sbomEncoder(format string, env *Env) (encoder, bool) {
	_ = io.Discard
	return nil, false
}
