package cloudformation

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func FuzzCloudFormation(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		if filepath.Base(file) == "bomb.yaml" {
			continue // slow by design; covered by TestParseErrors
		}
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("AWSTemplateFormatVersion: x\nConditions: {A: !Not [!Condition A]}\nResources: {R: {Type: AWS::X::Y, Properties: {P: !If [A, !Split [',', !Sub '${AWS::Region},b'], !Select [9, []]]}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Parse("t.yaml", data, Options{})
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.Attrs == nil {
				t.Fatalf("%s: nil attrs", r.Address)
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("resource does not marshal: %v", err)
			}
			if !known(r.Attrs) {
				t.Fatalf("%s: attrs hold an evaluation marker", r.Address)
			}
		}
	})
}
