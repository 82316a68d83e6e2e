//go:build tools

// Package peer keeps the Appdash server command in this module's requirements, so that
// `go build sourcegraph.com/sourcegraph/appdash/cmd/appdash` builds the pinned version.
package peer

import (
	_ "sourcegraph.com/sourcegraph/appdash/cmd/appdash"
)
