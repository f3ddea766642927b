package main

import "time"

// The case table, in run order. "rev/fresh-store" must stay first: it checks that nothing has
// been written (revision 1). Compactions in later cases only compact revisions their own case
// wrote, so cases stay independent of each other's history.
var cases = []testCase{
	{"rev/fresh-store", caseFreshStore},
	{"rev/arithmetic", caseRevisionArithmetic},
	{"range/count-more-pages", caseCountMorePages},
	{"range/historical-header", caseHistoricalRead},
	{"kv/empty-key", caseEmptyKey},
	{"kv/negative-limit-revision", caseNegativeLimitRevision},
	{"kv/prev-kv", casePrevKV},
	{"kv/ignore-value-lease", caseIgnoreValueLease},
	{"kv/request-too-large", caseRequestTooLarge},
	{"txn/too-many-ops", caseTooManyOps},
	{"txn/duplicate-key", caseDuplicateKey},
	{"txn/compare-kinds", caseCompareKinds},
	{"txn/nested", caseNestedTxn},
	{"kube/create", caseKubeCreate},
	{"kube/update", caseKubeUpdate},
	{"kube/delete", caseKubeDelete},
	{"compact/errors", caseCompaction},
	{"kube/compaction", caseKubeCompaction},
	{"watch/replay-prev-kv", caseWatchReplay},
	{"watch/future-revision", caseWatchFutureRev},
	{"watch/compacted", caseWatchCompacted},
	{"watch/progress-request", caseWatchProgressRequest},
	{"watch/prefix", caseWatchPrefix},
	{"watch/filters", caseWatchFilters},
	{"watch/progress-notify", caseWatchProgressNotify},
	{"watch/fragment", caseWatchFragment},
	{"watch/cancel", caseWatchCancel},
	{"watch/every-member", caseWatchEveryMember},
	{"lease/lifecycle", caseLeaseLifecycle},
	{"lease/expiry-delete-event", caseLeaseExpiry},
	{"lease/every-member", caseLeaseEveryMember},
	{"lease/attachments", caseLeaseAttachments},
	{"concurrency/mutex", caseMutex},
	{"concurrency/election", caseElection},
	{"concurrency/stm", caseSTM},
	{"maintenance/status", caseStatus},
	{"cluster/member-list", caseMemberList},
	{"maintenance/hashkv", caseHashKV},
	{"maintenance/alarm-defrag-hash-snapshot", caseMaintenanceMisc},
	// enables auth and always disables it again before returning
	{"auth/users-roles-permissions", caseAuth},
	// enables auth and always disables it again before returning
	{"auth/lock-election", caseConcurrencyAuth},
	// last: it changes the leader
	{"maintenance/move-leader", caseMoveLeader},
}

// caseTimeouts raises the bound of cases that make several individually bounded calls.
var caseTimeouts = map[string]time.Duration{
	"lease/every-member": 60 * time.Second,
}
