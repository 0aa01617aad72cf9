import SWAKit
