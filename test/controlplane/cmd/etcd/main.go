// Command etcd is the upstream etcd server entrypoint (go.etcd.io/etcd/v3 main.go), rebuilt here so the
// control plane for tests needs only this one Go module: etcd's root module is not importable as a library.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
