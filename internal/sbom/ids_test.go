package sbom

import "testing"

func TestNameUUID(t *testing.T) {
	// The value Python's uuid.uuid5 gives for the same namespace and name:
	// serial numbers are standard version 5 UUIDs others can recompute.
	if got, want := nameUUID("vigil"), "urn:uuid:73665950-1e08-569f-8e51-c976b6513fef"; got != want {
		t.Errorf("nameUUID = %s, want %s", got, want)
	}
}

func TestSafeName(t *testing.T) {
	tests := map[string]string{
		"registry.example/shop/api:1.4.2": "registry.example-shop-api-1.4.2",
		"":                                "sbom",
		"///":                             "sbom",
		"über image":                      "ber-image",
	}
	for in, want := range tests {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}
