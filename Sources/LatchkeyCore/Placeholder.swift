// LatchkeyCore
