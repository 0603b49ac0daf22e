// Package asset defines what Vigil inspects: hosts, container images, running
// containers, root filesystems, directories and SBOM documents, each with a
// stable identifier so that the same thing seen by the CLI, the agent and the
// server is one asset everywhere.
//
// It is a leaf package: it imports nothing from Vigil and every other package
// may import it.
package asset
