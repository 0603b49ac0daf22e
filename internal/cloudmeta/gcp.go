package cloudmeta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Google Compute Engine: items under /computeMetadata/v1/, every request
// and response carrying "Metadata-Flavor: Google". Only the items named
// here are read: never instance attributes, which hold user data.
const (
	gcpMeta   = "/computeMetadata/v1/"
	gcpFlavor = "Metadata-Flavor"
)

// gcpInterface is the part of one network interface used here.
type gcpInterface struct {
	IP string `json:"ip"`
}

// parseGCPInterfaces returns the primary addresses of a recursive
// network-interfaces listing.
func parseGCPInterfaces(b []byte) ([]string, error) {
	var nics []gcpInterface
	if err := json.Unmarshal(b, &nics); err != nil {
		return nil, fmt.Errorf("network interfaces: %w", err)
	}
	var ips []string
	for _, n := range nics {
		ips = addIPs(ips, n.IP)
	}
	return ips, nil
}

func queryGCP(ctx context.Context, f *fetcher, id *Identity) error {
	f.hdr = http.Header{gcpFlavor: {"Google"}}
	b, h, err := f.do(ctx, http.MethodGet, gcpMeta+"instance/id", nil, maxTextBody)
	if err != nil {
		return err
	}
	if h.Get(gcpFlavor) != "Google" {
		return fmt.Errorf("GET %sinstance/id: response without %s: Google", gcpMeta, gcpFlavor)
	}
	if id.InstanceID, err = parseText(b); err != nil {
		return fmt.Errorf("GET %sinstance/id: %w", gcpMeta, err)
	}
	// "projects/123456789/zones/europe-west1-b"
	id.Zone = lastSegment(f.optional(ctx, gcpMeta+"instance/zone"))
	id.Region = regionOfZone(id.Zone)
	// "projects/123456789/machineTypes/e2-medium"
	id.InstanceType = lastSegment(f.optional(ctx, gcpMeta+"instance/machine-type"))
	id.Account = f.optional(ctx, gcpMeta+"project/project-id")
	if b, _, err := f.do(ctx, http.MethodGet, gcpMeta+"instance/network-interfaces/?recursive=true&alt=json", nil, maxJSONBody); err == nil {
		if ips, err := parseGCPInterfaces(b); err == nil {
			id.PrivateIPs = addIPs(id.PrivateIPs, ips...)
		}
	}
	return nil
}
