// Package deploy holds Vigil's deployment artefacts and the tests that keep
// them working; it has no Go API and nothing imports it.
//
//   - systemd/: hardened units for the server and the agent, checked by
//     systemd-analyze verify (when present) and by invariants on the parsed
//     units.
//   - Dockerfile: scratch images of the static binaries built by
//     scripts/build.sh, built and run against the local Docker Engine.
//   - helm/vigil/: the Helm chart, rendered with the Helm library for several
//     value sets; every manifest is strictly decoded into its Kubernetes type
//     and checked against the chart's invariants, and the chart is linted.
package deploy
