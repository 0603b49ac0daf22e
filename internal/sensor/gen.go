package sensor

// The eBPF programs (bpf/sensor.bpf.c) are compiled with clang through
// bpf2go into package bpf; the generated Go files and objects are
// committed so that `go build` needs no clang. Rebuilding needs clang,
// libbpf-dev and bpftool; vmlinux.h is generated from the running kernel's
// BTF and not committed (bpf/.gitignore).
//go:generate sh -c "bpftool btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux.h"
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -go-package bpf -output-dir bpf -output-stem sensor -target bpfel -no-global-types Sensor bpf/sensor.bpf.c -- -I bpf -O2 -g -Wall -Werror
