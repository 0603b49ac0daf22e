// Package agentpb holds the generated protobuf and gRPC code of the
// agent–server protocol (proto/vigil/agent/v1/agent.proto). The generated
// files are committed so that `go build` needs no protoc; `go generate`
// rebuilds them with scripts/protogen.sh (protoc from Debian's
// protobuf-compiler, pinned protoc-gen-go and protoc-gen-go-grpc).
package agentpb

//go:generate bash ../../scripts/protogen.sh
