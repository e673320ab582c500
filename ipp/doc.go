// Package ipp speaks the Internet Printing Protocol on both sides of the gateway.
//
// The server side (Server) is the front door desktops print to: one http.Handler that validates
// every request in a fixed order, resolves the virtual printer from the URL path and dispatches by
// operation to handlers that talk to a Service (implemented by package queue). The client side
// (Client) sends jobs to physical IPP printers for package printers. Both share one typed error
// (Error), one attribute accessor (Attrs) and one job-template codec, so a message the server
// decodes is the message the client encodes.
//
// Wire encoding is github.com/OpenPrinting/goipp; see shared/STYLE.md for its gotchas.
package ipp
