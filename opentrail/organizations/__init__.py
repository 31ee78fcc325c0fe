"""AWS Organizations: organizations, member accounts, organizational units, service control
policies, trusted access and delegated administrators (:mod:`.model`), kept in
``<data-dir>/organizations.db`` (:mod:`.store`) and changed through :mod:`.service`, which also
offers the read interface policy evaluation and organization trails use."""
