// Package bpf holds the sensor's eBPF programs: the C source
// (sensor.bpf.c) and the objects and loaders bpf2go generated from it
// (`go generate ./internal/sensor/`). Only internal/sensor imports it.
package bpf
