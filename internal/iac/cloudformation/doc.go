// Package cloudformation reads AWS CloudFormation templates (YAML or JSON,
// SAM included) and Alibaba Cloud ROS templates into iac.Resources for
// `vigil scan config` and the policy engine.
//
// Each entry of a template's Resources becomes one resource whose Attrs are
// its Properties, evaluated as far as the template alone allows: parameter
// defaults, mappings, conditions and the intrinsic functions that compute
// from known values (Ref, Fn::Sub, Fn::Join, Fn::Select, Fn::Split,
// Fn::FindInMap, Fn::If, Fn::Base64 …). What cannot be known (a resource's
// id, a parameter without a default, the region) is absent; references to
// other resources are kept in Resource.Refs so that rules can join them.
//
// The package imports only iac (YAML and JSON are decoded by
// iac.DecodeYAML, with a tag hook for the short-form intrinsics); only the
// config scanner's loader registry should import it. Nothing here logs.
package cloudformation
