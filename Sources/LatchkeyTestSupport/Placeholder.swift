// LatchkeyTestSupport
