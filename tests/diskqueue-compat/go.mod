module github.com/nsq-rs/diskqueue-compat

go 1.21

require github.com/nsqio/go-diskqueue v1.1.0
