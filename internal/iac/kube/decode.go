package kube

import (
	"github.com/vigil-sec/vigil/internal/iac"
)

// decode reads Kubernetes YAML the way the API machinery does: YAML 1.1
// booleans (yes/on/no/off) are booleans. Alias bombs, depth and document
// count are bounded by iac.DecodeYAML.
func decode(data []byte) ([]iac.Doc, error) {
	return iac.DecodeYAML(data, iac.YAMLOptions{YAML11Bools: true})
}
