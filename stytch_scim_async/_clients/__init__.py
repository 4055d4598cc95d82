"""The public clients: what both modes share (`base`), `SCIMClient` (`project`) and
`MemberSCIMClient` (`member`)."""
