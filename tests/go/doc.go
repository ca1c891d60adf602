// Package nsqrstests holds go-nsq integration tests for the nsqd under test ($NSQD_BIN).
package nsqrstests
