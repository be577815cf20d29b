//go:build tools

// Package tools pins the upstream helm CLI that the lab builds for the chart and fence tests, so that
// go.mod and go.sum list it.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
