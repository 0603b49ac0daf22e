package kube

import (
	"context"
	"fmt"
	"testing"
	"testing/fstest"

	"github.com/vigil-sec/vigil/internal/iac"
)

// BenchmarkLoadManifests scans 2,000 generated manifests of two documents
// each (a Deployment and a Service).
func BenchmarkLoadManifests(b *testing.B) {
	const n = 2000
	fsys := fstest.MapFS{}
	files := make([]string, 0, n)
	for i := range n {
		name := fmt.Sprintf("apps/app%04d/deploy.yaml", i)
		fsys[name] = &fstest.MapFile{Data: fmt.Appendf(nil, manifestTemplate, i, i%7)}
		files = append(files, name)
	}
	in := &iac.Input{FS: fsys, Files: files, MaxFileSize: iac.DefaultMaxFileSize}
	l := New(Options{})
	b.ReportAllocs()
	for b.Loop() {
		res, errs := l.Load(context.Background(), in)
		if len(res) != 2*n || len(errs) != 0 {
			b.Fatalf("got %d resources, %d errors", len(res), len(errs))
		}
	}
}

const manifestTemplate = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app%[1]d
  namespace: ns%[2]d
  labels:
    app: app%[1]d
spec:
  replicas: 2
  selector:
    matchLabels:
      app: app%[1]d
  template:
    metadata:
      labels:
        app: app%[1]d
    spec:
      serviceAccountName: app%[1]d
      containers:
        - name: main
          image: registry.example.com/app%[1]d:1.0.0
          ports:
            - containerPort: 8080
          resources:
            limits:
              cpu: 500m
              memory: 256Mi
          securityContext:
            runAsNonRoot: true
            readOnlyRootFilesystem: true
            allowPrivilegeEscalation: false
---
apiVersion: v1
kind: Service
metadata:
  name: app%[1]d
  namespace: ns%[2]d
spec:
  selector:
    app: app%[1]d
  ports:
    - port: 80
      targetPort: 8080
`
