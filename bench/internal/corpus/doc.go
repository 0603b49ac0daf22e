// Package corpus builds the inputs of the SBOM benchmark (bench/sbom.sh):
//
//   - debian: a `debootstrap --variant=minbase bullseye` root as a one-layer
//     docker-save image;
//   - node: that layer plus a second layer holding a large npm-installed
//     node_modules (pinned direct dependencies, about three thousand
//     packages);
//   - gobin: a directory of 50 distinct Go binaries.
//
// Roots and Go binaries come from internal/fixture; the images and the npm
// install are built here. Every corpus is built once, in a temporary
// directory renamed into place on success, under a cache directory and a key
// that changes with what is built. Only bench/cmd/sbombench imports it.
package corpus
