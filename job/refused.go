package job

// EventRefused is the event kind of a refused attempt (a sign-in, an operation without the
// rights for it): who tried, from which address, what, and why it was refused.
const EventRefused = "refused"
