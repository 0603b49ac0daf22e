// Package containers lists the containers and images a host's container
// runtimes know: the Docker Engine, through its HTTP API on a unix socket,
// and containerd, through its gRPC API on a unix socket, every namespace
// (Kubernetes' k8s.io, Docker's moby, nerdctl's default, …).
//
// Both clients are small and built on net/http alone — HTTP/1.1 for the
// Engine, HTTP/2 without TLS carrying gRPC frames for containerd, whose
// few messages are decoded with protowire — so the agent links neither the
// Docker client module nor containerd's client and grpc-go. Responses are
// untrusted input: bodies and messages are bounded and every decoder is
// fuzzed.
//
// A runtime whose socket does not exist is not listed; one that exists but
// fails is listed with its error, and the other runtime is still read.
//
// The agent imports it; it imports nothing of Vigil.
package containers
