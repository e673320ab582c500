package job

// Move is one decision of a lifecycle rule: the state a job goes to and what the transition
// changes and records (Change). The caller hands it to a store's Transition.
type Move struct {
	To     State
	Change Change
}
