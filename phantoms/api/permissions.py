"""Who may call an endpoint: the permission a view names for each action (held through a role).

A view says `required_permissions = {"list": ("pipeline.view_asset", "pipeline.add_asset"), ...}`
(any one of them is enough), keyed by viewset action or, for plain API views, by lowercase HTTP
method. An action the view does not name is refused: nothing is open by omission. Which rows the
caller then sees is the business of `accounts.scoping`, not of this check.
"""

from rest_framework.permissions import BasePermission


class HasRolePermission(BasePermission):
    message = "You do not have permission to perform this action."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False  # DRF answers 401 when no credentials were given, 403 otherwise
        required = getattr(view, "required_permissions", {})
        method = request.method.lower()
        action_map = getattr(view, "action_map", None)
        if (action_map is not None and method not in action_map) or (action_map is None and not hasattr(view, method)):
            return True  # no such operation: the view answers 405
        key = getattr(view, "action", None) or method
        if key not in required and request.method == "OPTIONS":
            return True
        perms = required.get(key)
        if not perms:
            self.message = "This action is not open to anyone."
            return False
        if any(user.has_perm(perm) for perm in perms):
            return True
        self.message = f"You need one of these permissions: {', '.join(perms)}."
        return False
