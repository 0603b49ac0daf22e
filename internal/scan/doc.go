// Package scan turns a target the user names (an image reference, a root
// filesystem, the running host, an SBOM file) into an inventory.Result. It
// wires the image resolver, the layered filesystem and the inventory engine
// together, and is what the CLI, and later the agent, call.
//
// It does not print or log; progress and failures are in the Result.
package scan
