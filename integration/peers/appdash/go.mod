// Pins the real Appdash server that the integration tests build and start
// (`go build sourcegraph.com/sourcegraph/appdash/cmd/appdash`). Appdash has no
// go.mod and no tags of its own: the pseudo-versions below are its last commit.
module appdash-peer

go 1.22

require sourcegraph.com/sourcegraph/appdash v0.0.0-20211028080628-e2786a622600

require (
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/gorilla/mux v1.8.1 // indirect
	github.com/jessevdk/go-flags v1.6.1 // indirect
	github.com/shurcooL/httpfs v0.0.0-20230704072500-f1e31cf0ba5c // indirect
	github.com/shurcooL/vfsgen v0.0.0-20230704071429-0000e147ea92 // indirect
	golang.org/x/sys v0.21.0 // indirect
	sourcegraph.com/sourcegraph/appdash-data v0.0.0-20151005221446-73f23eafcf67 // indirect
)
