// Package finding defines a Finding: something wrong with an asset, whoever
// found it (vulnerability matching, posture policies, secret detection,
// baselines, runtime rules). A finding's ID is derived from what it is about,
// so the same problem on the same package of the same asset is one finding in
// the CLI, the agent and the server.
//
// It is a leaf package: every other package may import it.
package finding
