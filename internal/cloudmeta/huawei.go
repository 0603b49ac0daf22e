package cloudmeta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Huawei Cloud ECS: the OpenStack meta_data.json document, plus the
// private address from the EC2-compatible items. No token.
const (
	huaweiDocPath = "/openstack/latest/meta_data.json"
	huaweiIPPath  = "/latest/meta-data/local-ipv4"
)

// huaweiDocument is the part of meta_data.json used here.
type huaweiDocument struct {
	UUID             string `json:"uuid"`
	AvailabilityZone string `json:"availability_zone"`
	RegionID         string `json:"region_id"`
	ProjectID        string `json:"project_id"`
	InstanceType     string `json:"instance_type"`
}

// parseHuawei decodes meta_data.json into an Identity's metadata fields;
// it fails without a uuid. Without region_id the region is derived from
// the zone ("cn-north-4a" → "cn-north-4").
func parseHuawei(b []byte) (Identity, error) {
	var d huaweiDocument
	if err := json.Unmarshal(b, &d); err != nil {
		return Identity{}, fmt.Errorf("meta_data.json: %w", err)
	}
	id := Identity{
		InstanceID: clean(d.UUID), Zone: clean(d.AvailabilityZone), Region: clean(d.RegionID),
		Account: clean(d.ProjectID), InstanceType: clean(d.InstanceType),
	}
	if id.InstanceID == "" {
		return Identity{}, fmt.Errorf("meta_data.json: no uuid")
	}
	if id.Region == "" {
		id.Region = regionOfZone(id.Zone)
	}
	return id, nil
}

func queryHuawei(ctx context.Context, f *fetcher, id *Identity) error {
	b, _, err := f.do(ctx, http.MethodGet, huaweiDocPath, nil, maxJSONBody)
	if err != nil {
		return err
	}
	m, err := parseHuawei(b)
	if err != nil {
		return err
	}
	id.InstanceID, id.Region, id.Zone, id.Account, id.InstanceType = m.InstanceID, m.Region, m.Zone, m.Account, m.InstanceType
	id.PrivateIPs = addIPs(id.PrivateIPs, f.optional(ctx, huaweiIPPath))
	return nil
}
